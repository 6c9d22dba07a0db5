-- PUT /Users/{id}: Okta's profile push, the whole user.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

common.run(function(users, n) return common.put(users:pick(), n) end)

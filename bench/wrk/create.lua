-- POST /Users: a new user per request.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

common.run(function(_, n) return common.create(n) end)

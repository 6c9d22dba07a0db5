-- GET /Users/{id}.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

common.run(function(users) return common.get(users:pick()) end)

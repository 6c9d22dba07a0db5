-- GET /Users?filter=userName eq "…": the lookup every IdP makes before a create.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

common.run(function(users) return common.filter(users:pick()) end)

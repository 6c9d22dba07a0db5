-- PATCH /Users/{id}: replace displayName, as Entra sends it.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

common.run(function(users, n) return common.patch(users:pick(), n) end)

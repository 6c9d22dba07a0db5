-- GET /Users?filter=userName eq "…": the lookup every IdP makes before a create.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local users
local counter = 0
setup = common.setup
done = common.done
init = function() users = common.users() end

request = function()
  return common.filter(users[math.random(#users)])
end

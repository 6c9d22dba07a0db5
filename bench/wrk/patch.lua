-- PATCH /Users/{id}: replace displayName, as Entra sends it.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local users
local counter = 0
setup = common.setup
done = common.done
init = function() users = common.users() end

request = function()
  counter = counter + 1
  return common.patch(users[math.random(#users)], counter)
end

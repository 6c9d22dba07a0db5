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
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
    '"Operations":[{"op":"Replace","path":"displayName","value":"Name %d-%d"}]}',
    thread_number, counter)
  return wrk.format("PATCH", common.base_path .. "/Users/" .. users[math.random(#users)].id, common.headers, body)
end

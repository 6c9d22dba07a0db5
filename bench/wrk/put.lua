-- PUT /Users/{id}: Okta's profile push, the whole user.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local users
local counter = 0
setup = common.setup
done = common.done
init = function() users = common.users() end

request = function()
  counter = counter + 1
  local user = users[math.random(#users)]
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",' ..
    '"name":{"givenName":"Put","familyName":"%d-%d"},"emails":[{"value":"%s","primary":true}],"active":true}',
    user.name, thread_number, counter, user.name)
  return wrk.format("PUT", common.base_path .. "/Users/" .. user.id, common.headers, body)
end

-- POST /Users: a new user per request.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local counter = 0
setup = common.setup
done = common.done

request = function()
  counter = counter + 1
  local name = string.format("new-%d-%d-%s@bench.example", thread_number, counter, os.getenv("BENCH_RUN"))
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",' ..
    '"name":{"givenName":"Bench","familyName":"User"},"emails":[{"value":"%s","primary":true}]}',
    name, name)
  return wrk.format("POST", common.base_path .. "/Users", common.headers, body)
end

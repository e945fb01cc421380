-- wrk script for scripts/soak.sh: each request is drawn at random from the manifest SOAK_DIR/
-- manifest.tsv (expected status, Content-Type, Accept, custom attributes, body file), and answers
-- are counted by status class. (wrk's callbacks do not say which request an answer belongs to, so
-- exact statuses are checked by scripts/soak/check.py before and after the load.) done() prints
-- one JSON line.
local dir = os.getenv("SOAK_DIR")
local requests = {}
for line in io.lines(dir .. "/manifest.tsv") do
  local expected, ctype, accept, attrs, file = line:match("^(%d+)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
  local f = assert(io.open(dir .. "/" .. file, "rb"))
  local headers = { ["Content-Type"] = ctype }
  if accept ~= "-" then headers["Accept"] = accept end
  if attrs ~= "-" then headers["X-Amzn-SageMaker-Custom-Attributes"] = attrs end
  requests[#requests + 1] = { expected = tonumber(expected), raw = wrk.format("POST", "/invocations", headers, f:read("*a")) }
  f:close()
end

local threads = {}
function setup(thread)
  thread:set("seed", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(seed * 7919 + os.time())
  ok, refused, server_errors = 0, 0, 0
end

function request()
  return requests[math.random(#requests)].raw
end

function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1
  elseif status >= 400 then refused = refused + 1
  else ok = ok + 1 end
end

function done(summary, latency, _)
  local t = { ok = 0, refused = 0, server_errors = 0 }
  for _, thread in ipairs(threads) do
    for k in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK {"requests":%d,"duration_us":%d,"ok":%d,"refused":%d,"server_errors":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, t.ok, t.refused, t.server_errors,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end

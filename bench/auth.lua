-- wrk script: GET with "Authorization: Bearer <token>", round-robin per
-- request over the tokens of the file given after "--" (one a line).
--   wrk -t2 -c64 -d10s --latency -s bench/auth.lua URL -- tokens.txt
-- Prints one line "RESULT {json}" at the end for bench/run.sh.

local requests = {}
local i = 0

function init(args)
  local path = args[1] or error("auth.lua: give the token file after --")
  for line in io.lines(path) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", nil, { Authorization = "Bearer " .. line })
    end
  end
  if #requests == 0 then error("auth.lua: no token in " .. path) end
  -- Threads start at different tokens so that one identity is not hit twice in step.
  i = math.random(#requests) - 1
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end

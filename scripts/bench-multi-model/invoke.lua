-- wrk script: POST one fixed body to a random model of a multi-model server
-- (/models/dev-NNNN/invoke, NNNN uniform in 0..MODELS-1). post.lua (POST_LUA) reads BODY_FILE and
-- CONTENT_TYPE and prints the summary line; this adds the path.
dofile(os.getenv("POST_LUA"))
local models = tonumber(os.getenv("MODELS"))
math.randomseed(7)
request = function()
  local path = string.format("/models/dev-%04d/invoke", math.random(0, models - 1))
  return wrk.format("POST", path, wrk.headers, wrk.body)
end

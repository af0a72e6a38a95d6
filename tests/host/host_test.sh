#!/usr/bin/env bash
# The etwlua host behaves like lua(1): flags, arg table, stdin, exit status,
# tracebacks; built-in subcommands; the binary works copied alone elsewhere.
#   host_test.sh PATH_TO_ETWLUA
set -u
exe=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/check.sh"

printf 'print(#arg, arg[0], arg[1], arg[2], arg[-1] ~= nil, ...)\n' >"$tmp/args.lua"
printf 'local function f() error("boom") end\nf()\n' >"$tmp/err.lua"
printf 'os.exit(7)\n' >"$tmp/exit7.lua"
printf 'print(require("etw").providerid_from_name("MyProvider"))\n' >"$tmp/id.lua"

check "-v prints the version" 0 '^etwlua [0-9]+\.[0-9]+\.[0-9]+ \(Lua 5\.4' "$exe" -v
check "script gets arg and ..." 0 $'^2\t.*args.lua\ta\tb c\ttrue\ta\tb c$' "$exe" "$tmp/args.lua" a "b c"
check "-e runs a statement" 0 '^3$' "$exe" -e 'print(1+2)'
check "-e then script" 0 $'^x\n0\t' "$exe" -e 'print("x")' "$tmp/args.lua"
check "-l requires into a global" 0 '^table$' "$exe" -l cjson -e 'print(type(cjson))'
check "-l g=mod" 0 '^table$' "$exe" -l J=cjson -e 'print(type(J))'
check "error exits 1 with traceback" 1 'err.lua:1: boom && ^stack traceback: && err.lua:1: in (local|upvalue|function) .f.' "$exe" "$tmp/err.lua"
check "os.exit status kept" 7 '' "$exe" "$tmp/exit7.lua"
check "syntax error exits 1" 1 "unexpected symbol|expected" "$exe" -e 'x = = 1'
check "missing script exits 1" 1 'cannot open' "$exe" "$tmp/nope.lua"
check "unknown option exits 1 with usage" 1 "unrecognized option '-z' && ^usage: etwlua" "$exe" -z
check "-e without argument" 1 "'-e' needs argument" "$exe" -e
check "- runs stdin" 0 '^42$' bash -c "echo 'print(42)' | '$exe' -"
check "stdin when no script and not a tty" 0 '^43$' bash -c "echo 'print(43)' | '$exe'"
check "-i REPL evaluates and continues lines" 0 $'> >> > 3' bash -c "printf 'x = 1 +\n2\nx\n' | '$exe' -i"
check "-- stops options" 0 '^1$' bash -c "cd '$tmp' && printf 'print(1)' > ./-v && '$exe' -- -v"
check "-E ignores LUA_INIT" 0 '^ok$' env LUA_INIT='error("init ran")' "$exe" -E -e 'print("ok")'
check "LUA_INIT runs" 0 '^init$' env LUA_INIT='print("init")' "$exe" -e ''
check "require etw and cjson" 0 '^table	table$' "$exe" -e 'print(type(require "etw"), type(require "cjson"))'
check "embedded modules load" 0 '^table$' "$exe" -e 'print(type(require "etwlua.cli.version"))'
check "version command" 0 '^etwlua [0-9.]+ \(Lua 5\.4\)$' "$exe" version
check "guid command" 0 '^b3864c38-4273-58c5-545b-8b3608343471$' "$exe" guid MyProvider
check "guid command, several" 0 $'ce5fa4ea-ab00-5402-8b76-9f76ac858fb5  MyCompany.MyComponent' "$exe" guid MyProvider MyCompany.MyComponent
check "guid without name is a usage error" 2 'usage: etwlua guid \[--\] NAME' "$exe" guid
check "guid rejects bad UTF-8" 1 'valid UTF-8' "$exe" guid $'\xff'
check "help lists commands" 0 '^  version  && ^  guid  ' "$exe" help
check "-h prints usage" 0 '^usage: etwlua && -e stat' "$exe" -h

# the binary alone in another folder, with no Lua paths, still has everything
mkdir "$tmp/alone" && cp "$exe" "$tmp/alone/etwlua"
check "copied binary works alone" 0 '^b3864c38-4273-58c5-545b-8b3608343471$' \
  env -u LUA_PATH -u LUA_CPATH LUA_PATH='/nonexistent/?.lua' LUA_CPATH='/nonexistent/?.so' \
  bash -c "cd / && '$tmp/alone/etwlua' '$tmp/id.lua'"
check "copied binary runs commands" 0 '^etwlua ' bash -c "cd / && '$tmp/alone/etwlua' version"

finish

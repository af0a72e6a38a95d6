#!/usr/bin/env bash
# Run the consumer and, a moment later, the producer as two processes.
set -euo pipefail
cd "$(dirname "$0")"
etwlua=${ETWLUA:-../../build/etwlua}
"$etwlua" consumer.lua 4 &
sleep 0.5
"$etwlua" producer.lua 30
wait

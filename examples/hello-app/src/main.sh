#!/bin/sh
echo "$GREETING from hello-app $(cat /app/VERSION) ($(wc -l < /app/vendor/installed.txt) dependencies)"

#!/usr/bin/env bash
# Installs the tracker libraries that TestRealTrackers and TestBrowserTracker
# drive accord serve with (and playwright-core, which drives Debian's Chromium
# for the browser tracker), from the npm registry, into a cache folder outside the repository. .ci/run calls
# it and exports ACCORD_TRACKERS_NODE_MODULES with the folder it prints on its
# last line:
#
#   export ACCORD_TRACKERS_NODE_MODULES="$(bash internal/app/testdata/trackers/install.sh | tail -n1)"
#
# The versions are pinned so that a run tests what it says; move them forward
# deliberately, and run the test.
set -euo pipefail
packages=(
  "@snowplow/node-tracker@4.8.0"
  "@segment/analytics-node@3.1.0"
  "analytics-node@6.2.0"
  "@rudderstack/rudder-sdk-node@3.1.1"
  "@snowplow/browser-tracker@4.8.0"
  "@snowplow/browser-tracker-v3@npm:@snowplow/browser-tracker@3.24.6"
  "@snowplow/browser-plugin-performance-timing@3.24.6"
  "@snowplow/browser-plugin-link-click-tracking@3.24.6"
  "@snowplow/browser-plugin-form-tracking@3.24.6"
  "@snowplow/browser-plugin-ga-cookies@3.24.6"
  "@segment/analytics-next@1.84.3"
  "@rudderstack/analytics-js@3.34.1"
  "playwright-core@1.65.1"
)
key=$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-12)
dir="${ACCORD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/accord-tools}/trackers-$key"
if [ ! -f "$dir/.installed" ]; then
  mkdir -p "$dir"
  # --legacy-peer-deps: the version 3 plugins name version 3 of the browser
  # tracker as a peer, beside version 4; the test loads their self-contained UMD
  # builds, which need no peer.
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error --legacy-peer-deps "${packages[@]}" >&2
  touch "$dir/.installed"
fi
echo "$dir/node_modules"

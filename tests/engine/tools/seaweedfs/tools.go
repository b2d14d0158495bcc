//go:build tools

// Package tools pins the upstream main package built by build-tools.sh.
package tools

import _ "github.com/seaweedfs/seaweedfs/weed"

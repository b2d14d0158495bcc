//go:build tools

// Package tools pins the upstream main package built by build-tools.sh.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)

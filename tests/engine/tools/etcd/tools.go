//go:build tools

// Package tools pins the upstream main package built by build-tools.sh.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)

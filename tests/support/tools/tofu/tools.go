//go:build tools

// Package tools pins the upstream main package built by build-terraform.sh.
package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"

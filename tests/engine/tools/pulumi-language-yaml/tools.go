//go:build tools

// Package tools pins the upstream main package that build-tools.sh builds with
// `go build github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml`: the Pulumi YAML
// language host, which tests/engine/reuse.test.ts uses to run a YAML stack that
// consumes our component as a plugin.
package tools

import (
	_ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
)

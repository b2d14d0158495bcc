//go:build tools

// Package tools pins the upstream packages whose tests build-s3-driver-suite.sh compiles: the S3 driver and
// the driver test suite its tests call (imported so that go.sum covers its dependencies too).
package tools

import (
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/testsuites"
)

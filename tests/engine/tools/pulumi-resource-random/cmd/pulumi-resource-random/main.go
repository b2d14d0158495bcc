// Command pulumi-resource-random serves the bridged Terraform random provider.
// build-tools.sh builds it in a scratch copy of this module after
// pulumi-tfgen-random has written schema.json and bridge-metadata.json here.
package main

import (
	"context"
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"github.com/terraform-providers/terraform-provider-random/pulumiwrapper/info"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	tfbridge.Main(context.Background(), "random", info.Provider(metadata),
		tfbridge.ProviderMetadata{PackageSchema: schema})
}

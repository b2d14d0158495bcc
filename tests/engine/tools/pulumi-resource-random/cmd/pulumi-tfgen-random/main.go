// Command pulumi-tfgen-random writes schema.json and bridge-metadata.json for
// pulumi-resource-random: pulumi-tfgen-random schema --out DIR
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"github.com/terraform-providers/terraform-provider-random/pulumiwrapper/info"
)

func main() {
	tfgen.Main("random", info.Provider(nil))
}

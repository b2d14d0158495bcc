// Package info describes how the Terraform random provider is presented to
// Pulumi: package `random`, every resource in module `index` with the names
// the @pulumi/random npm package uses (random_password ->
// random:index/randomPassword:RandomPassword, ...).
package info

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	sdkbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// Version is set with -ldflags "-X .../info.Version=4.21.2".
var Version = "4.0.0"

// Provider returns the bridge description. metadata is the content of the
// bridge-metadata.json written by pulumi-tfgen-random (nil when generating it).
func Provider(metadata []byte) sdkbridge.ProviderInfo {
	p := sdkbridge.ProviderInfo{
		P:                tfbridge.ShimProvider(provider.New()),
		Name:             "random",
		Version:          Version,
		DisplayName:      "random",
		Publisher:        "Pulumi",
		Description:      "A Pulumi package to safely use randomness in Pulumi programs.",
		Keywords:         []string{"pulumi", "random"},
		License:          "Apache-2.0",
		Homepage:         "https://pulumi.io",
		Repository:       "https://github.com/pulumi/pulumi-random",
		GitHubOrg:        "hashicorp",
		MetadataInfo:     sdkbridge.NewProviderMetadata(metadata),
		UpstreamRepoPath: ".",
		Resources:        map[string]*sdkbridge.ResourceInfo{},
		DataSources:      map[string]*sdkbridge.DataSourceInfo{},
	}
	// With an empty prefix "random_password" becomes RandomPassword.
	p.MustComputeTokens(tokens.SingleModule("", "index", tokens.MakeStandard("random")))
	p.SetAutonaming(255, "-")
	return p
}

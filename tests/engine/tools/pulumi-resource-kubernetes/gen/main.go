// Command gen writes schema-embed.json and terraform-mapping-embed.json (the
// files upstream generates with `go generate` before a release) from the
// schema.json and terraform-mapping.json shipped in the provider module.
//
// Usage: go run ./gen -version 4.34.2 -out DIR
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"log"
	"os"
	"os/exec"
	"path/filepath"
)

const providerModule = "github.com/pulumi/pulumi-kubernetes/provider/v4"

func main() {
	version := flag.String("version", "", "version to record in the schema")
	out := flag.String("out", ".", "output directory")
	flag.Parse()
	if *version == "" {
		log.Fatal("gen: -version is required")
	}

	// `go mod download` (unlike `go list -m`) also fetches the module into a
	// cold module cache; the version is the one this module's go.mod selects.
	var stderr bytes.Buffer
	cmd := exec.Command("go", "mod", "download", "-json", providerModule)
	cmd.Stderr = &stderr
	dl, err := cmd.Output()
	if err != nil {
		log.Fatalf("gen: go mod download %s: %v: %s%s", providerModule, err, stderr.String(), dl)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(dl, &mod); err != nil || mod.Dir == "" {
		log.Fatalf("gen: go mod download %s: no module directory (%v %s)", providerModule, err, mod.Error)
	}
	src := filepath.Join(mod.Dir, "cmd", "pulumi-resource-kubernetes")

	var schema map[string]json.RawMessage
	readJSON(filepath.Join(src, "schema.json"), &schema)
	v, _ := json.Marshal(*version)
	schema["version"] = v
	writeJSON(filepath.Join(*out, "schema-embed.json"), schema)

	var mapping any
	readJSON(filepath.Join(src, "terraform-mapping.json"), &mapping)
	writeJSON(filepath.Join(*out, "terraform-mapping-embed.json"), mapping)
}

func readJSON(path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		log.Fatalf("gen: parsing %s: %v", path, err)
	}
}

func writeJSON(path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

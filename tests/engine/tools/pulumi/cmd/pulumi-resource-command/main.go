// Command pulumi-resource-command is a small, local-only stand-in for the
// Pulumi `command` provider, written for this repository's offline
// end-to-end tests.
//
// The upstream provider (module github.com/pulumi/pulumi-command/provider) is
// not served by the Go module proxy reachable from our machines. This program
// speaks the same resource-provider gRPC protocol for the parts of the
// @pulumi/command npm package that run on the local machine:
//
//   - resource command:local:Command (create/update/delete commands, dir,
//     environment, interpreter, stdin, triggers, addPreviousOutputInEnv;
//     outputs stdout and stderr)
//   - function command:local:run
//
// command:remote:* (SSH) is not implemented and fails with a clear error.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"

	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// version is set with -ldflags "-X main.version=...".
var version = "1.2.1"

const (
	localCommand = "command:local:Command"
	localRun     = "command:local:run"
)

// Inputs of command:local:Command. As upstream documents it: a change to
// `triggers` replaces the resource; any other change runs `update` (or, when
// no `update` is given, `create` again) in place.
var (
	inputKeys = []resource.PropertyKey{
		"create", "update", "delete", "dir", "environment", "interpreter", "stdin",
		"triggers", "addPreviousOutputInEnv", "logging", "assetPaths", "archivePaths",
	}
	replaceKeys = map[resource.PropertyKey]bool{"triggers": true}
	// Changing only these never runs a command.
	quietKeys = map[resource.PropertyKey]bool{
		"update": true, "delete": true, "logging": true, "addPreviousOutputInEnv": true,
	}
)

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(version)
		return
	}
	err := provider.Main("command", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &commandProvider{}, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}

var keepOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true, KeepResources: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, keepOpts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, keepOpts)
}

func typeOf(urn string) string {
	// urn:pulumi:stack::project::parent$type::name
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return ""
	}
	t := parts[2]
	if i := strings.LastIndex(t, "$"); i >= 0 {
		t = t[i+1:]
	}
	return t
}

func checkType(urn string) error {
	if t := typeOf(urn); t != localCommand {
		return status.Errorf(codes.Unimplemented,
			"resource type %q is not supported by this test build of pulumi-resource-command "+
				"(only %s is)", t, localCommand)
	}
	return nil
}

func (p *commandProvider) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *commandProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	b, err := json.Marshal(map[string]any{"name": "command", "version": version})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *commandProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *commandProvider) Cancel(context.Context, *pbempty.Empty) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for k := range news {
		known := false
		for _, ik := range inputKeys {
			if k == ik {
				known = true
			}
		}
		if !known && !strings.HasPrefix(string(k), "__") {
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: string(k), Reason: fmt.Sprintf("unknown or unsupported property %q", k),
			})
		}
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func inputsOnly(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for _, k := range inputKeys {
		if v, ok := m[k]; ok && !v.IsNull() {
			out[k] = v
		}
	}
	return out
}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		// Older state: inputs are part of the outputs.
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, news = inputsOnly(olds), inputsOnly(news)

	var diffs, replaces []string
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, k := range inputKeys {
		o, oOK := olds[k]
		n, nOK := news[k]
		if !oOK && !nOK {
			continue
		}
		if oOK && nOK && !n.ContainsUnknowns() && o.DeepEquals(n) {
			continue
		}
		diffs = append(diffs, string(k))
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !oOK:
			kind = pulumirpc.PropertyDiff_ADD
		case !nOK:
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if replaceKeys[k] {
			replaces = append(replaces, string(k))
			kind += 1 // the *_REPLACE variant follows each kind
		}
		detailed[string(k)] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	sort.Strings(diffs)
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{
		Changes:         changes,
		Diffs:           diffs,
		Replaces:        replaces,
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}, nil
}

// plain returns the value with secrets unwrapped, and whether any were found.
func plain(v resource.PropertyValue) (resource.PropertyValue, bool) {
	switch {
	case v.IsSecret():
		e, _ := plain(v.SecretValue().Element)
		return e, true
	case v.IsOutput():
		o := v.OutputValue()
		e, s := plain(o.Element)
		return e, s || o.Secret
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]resource.PropertyValue, len(arr))
		secret := false
		for i, e := range arr {
			var s bool
			out[i], s = plain(e)
			secret = secret || s
		}
		return resource.NewArrayProperty(out), secret
	case v.IsObject():
		obj := v.ObjectValue()
		out := resource.PropertyMap{}
		secret := false
		for k, e := range obj {
			var s bool
			out[k], s = plain(e)
			secret = secret || s
		}
		return resource.NewObjectProperty(out), secret
	}
	return v, false
}

type spec struct {
	dir         string
	env         []string
	interpreter []string
	stdin       string
	addPrevious bool
	secret      bool
}

func str(m resource.PropertyMap, k resource.PropertyKey) string {
	if v, ok := m[k]; ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func specOf(inputs resource.PropertyMap) spec {
	pv, secret := plain(resource.NewObjectProperty(inputs))
	m := pv.ObjectValue()
	s := spec{dir: str(m, "dir"), stdin: str(m, "stdin"), addPrevious: true, secret: secret}
	s.env = os.Environ()
	if v, ok := m["environment"]; ok && v.IsObject() {
		keys := v.ObjectValue().StableKeys()
		for _, k := range keys {
			e := v.ObjectValue()[k]
			if e.IsString() {
				s.env = append(s.env, string(k)+"="+e.StringValue())
			}
		}
	}
	if v, ok := m["interpreter"]; ok && v.IsArray() {
		for _, e := range v.ArrayValue() {
			if e.IsString() {
				s.interpreter = append(s.interpreter, e.StringValue())
			}
		}
	}
	if len(s.interpreter) == 0 {
		s.interpreter = []string{"/bin/sh", "-c"}
	}
	if v, ok := m["addPreviousOutputInEnv"]; ok && v.IsBool() {
		s.addPrevious = v.BoolValue()
	}
	return s
}

func run(ctx context.Context, s spec, command string, extraEnv []string) (string, string, error) {
	argv := append(append([]string{}, s.interpreter...), command)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = s.dir
	cmd.Env = append(append([]string{}, s.env...), extraEnv...)
	if s.stdin != "" {
		cmd.Stdin = strings.NewReader(s.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	out := strings.TrimSuffix(stdout.String(), "\n")
	errOut := strings.TrimSuffix(stderr.String(), "\n")
	if err != nil {
		return out, errOut, fmt.Errorf("%w: running %q:\nStdout:\n%s\nStderr:\n%s", err, command, out, errOut)
	}
	return out, errOut, nil
}

func withOutputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue, secret bool) resource.PropertyMap {
	out := inputs.Copy()
	if secret {
		if !stdout.IsComputed() {
			stdout = resource.MakeSecret(stdout)
		}
		if !stderr.IsComputed() {
			stderr = resource.MakeSecret(stderr)
		}
	}
	out["stdout"] = stdout
	out["stderr"] = stderr
	return out
}

func computed() resource.PropertyValue { return resource.MakeComputed(resource.NewStringProperty("")) }

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs = inputsOnly(inputs)
	s := specOf(inputs)
	var outs resource.PropertyMap
	if req.GetPreview() {
		outs = withOutputs(inputs, computed(), computed(), s.secret)
	} else {
		stdout, stderr := "", ""
		if c := str(plainMap(inputs), "create"); c != "" {
			stdout, stderr, err = run(ctx, s, c, nil)
			if err != nil {
				return nil, err
			}
		}
		outs = withOutputs(inputs, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr), s.secret)
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	id := ""
	if !req.GetPreview() {
		id = newID()
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func plainMap(m resource.PropertyMap) resource.PropertyMap {
	v, _ := plain(resource.NewObjectProperty(m))
	return v.ObjectValue()
}

func previousEnv(olds resource.PropertyMap) []string {
	o := plainMap(olds)
	return []string{"PULUMI_COMMAND_STDOUT=" + str(o, "stdout"), "PULUMI_COMMAND_STDERR=" + str(o, "stderr")}
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(oldInputs) == 0 {
		oldInputs = inputsOnly(olds)
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	news = inputsOnly(news)
	s := specOf(news)

	runUpdate := false
	for _, k := range inputKeys {
		if quietKeys[k] {
			continue
		}
		o, oOK := oldInputs[k]
		n, nOK := news[k]
		if oOK != nOK || (nOK && (n.ContainsUnknowns() || !o.DeepEquals(n))) {
			runUpdate = true
		}
	}
	update := str(plainMap(news), "update")
	if update == "" {
		update = str(plainMap(news), "create")
	}

	var outs resource.PropertyMap
	switch {
	case runUpdate && update != "" && req.GetPreview():
		outs = withOutputs(news, computed(), computed(), s.secret)
	case runUpdate && update != "":
		var extra []string
		if s.addPrevious {
			extra = previousEnv(olds)
		}
		stdout, stderr, err := run(ctx, s, update, extra)
		if err != nil {
			return nil, err
		}
		outs = withOutputs(news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr), s.secret)
	default:
		stdout, ok := olds["stdout"]
		if !ok {
			stdout = resource.NewStringProperty("")
		}
		stderr, ok := olds["stderr"]
		if !ok {
			stderr = resource.NewStringProperty("")
		}
		outs = withOutputs(news, stdout, stderr, false)
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*pbempty.Empty, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs := inputsOnly(olds)
	if d := str(plainMap(inputs), "delete"); d != "" {
		s := specOf(inputs)
		var extra []string
		if s.addPrevious {
			extra = previousEnv(olds)
		}
		if _, _, err := run(ctx, s, d, extra); err != nil {
			return nil, err
		}
	}
	return &pbempty.Empty{}, nil
}

func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	inputs := req.GetInputs()
	if inputs == nil {
		state, err := unmarshal(req.GetProperties())
		if err != nil {
			return nil, err
		}
		if inputs, err = marshal(inputsOnly(state)); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: inputs}, nil
}

func (p *commandProvider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != localRun {
		return nil, status.Errorf(codes.Unimplemented,
			"function %q is not supported by this test build of pulumi-resource-command (only %s is)",
			req.GetTok(), localRun)
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	s := specOf(args)
	command := str(plainMap(args), "command")
	stdout, stderr, err := run(ctx, s, command, nil)
	if err != nil {
		return nil, err
	}
	outs := args.Copy()
	outs["stdout"] = resource.NewStringProperty(stdout)
	outs["stderr"] = resource.NewStringProperty(stderr)
	ret, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

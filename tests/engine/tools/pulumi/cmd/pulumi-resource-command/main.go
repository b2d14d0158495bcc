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
//
// Where the program depends on it, it behaves as pulumi-command 1.2.1 does (provider/pkg/provider/local/ and
// pulumi-go-provider's infer/resource.go upstream; ../../shared/REAL-NODE.md lists the measured points):
//  1. stdout and stderr are not secret, even when stdin or environment is;
//  2. each line of output reaches the engine as an INFO status message, as `logging` selects;
//  3. a change to any input but `triggers`, even to only `delete`, `update`, `logging` or
//     `addPreviousOutputInEnv`, runs `update` (or `create` again);
//  4. changed `triggers` are reported as `triggers[i]` updates; replacement comes from the npm SDK's
//     replaceOnChanges: ["triggers[*]"];
//  5. Check rejects wrongly typed inputs;
//  6. a failure reads `exit status N: running "<command>":` and the interleaved output;
//  7. PULUMI_COMMAND_STDOUT/STDERR are set only when not empty;
//  8. IDs are the resource name and 8 hex characters.
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
	"sync"

	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
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

// Inputs of command:local:Command and the type each must have.
var (
	inputKeys = []resource.PropertyKey{
		"create", "update", "delete", "dir", "environment", "interpreter", "stdin",
		"triggers", "addPreviousOutputInEnv", "logging", "assetPaths", "archivePaths",
	}
	stringKeys      = []resource.PropertyKey{"create", "update", "delete", "dir", "stdin", "logging"}
	stringListKeys  = []resource.PropertyKey{"interpreter", "assetPaths", "archivePaths"}
	loggingSettings = map[string]bool{"stdout": true, "stderr": true, "stdoutAndStderr": true, "none": true}
)

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(version)
		return
	}
	err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &commandProvider{host: host}, nil
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
	fail := func(property, reason string) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: property, Reason: reason})
	}
	for k := range news {
		known := false
		for _, ik := range inputKeys {
			if k == ik {
				known = true
			}
		}
		if !known && !strings.HasPrefix(string(k), "__") {
			fail(string(k), fmt.Sprintf("unknown or unsupported property %q", k))
		}
	}
	m := plainMap(news)
	known := func(v resource.PropertyValue) bool { return !v.IsComputed() && !v.IsOutput() }
	for _, k := range stringKeys {
		if v, ok := m[k]; ok && known(v) && !v.IsNull() && !v.IsString() {
			fail(string(k), fmt.Sprintf("%s must be a string, not %s", k, v.TypeString()))
		}
	}
	for _, k := range stringListKeys {
		if v, ok := m[k]; ok && known(v) && !v.IsNull() {
			if !v.IsArray() {
				fail(string(k), fmt.Sprintf("%s must be a list of strings, not %s", k, v.TypeString()))
				continue
			}
			for i, e := range v.ArrayValue() {
				if known(e) && !e.IsString() {
					fail(fmt.Sprintf("%s[%d]", k, i), fmt.Sprintf("%s[%d] must be a string, not %s", k, i, e.TypeString()))
				}
			}
		}
	}
	if v, ok := m["environment"]; ok && known(v) && !v.IsNull() {
		if !v.IsObject() {
			fail("environment", fmt.Sprintf("environment must be a map of strings, not %s", v.TypeString()))
		} else {
			for _, name := range v.ObjectValue().StableKeys() {
				if e := v.ObjectValue()[name]; known(e) && !e.IsString() {
					fail("environment."+string(name), fmt.Sprintf("environment.%s must be a string, not %s", name, e.TypeString()))
				}
			}
		}
	}
	if v, ok := m["addPreviousOutputInEnv"]; ok && known(v) && !v.IsNull() && !v.IsBool() {
		fail("addPreviousOutputInEnv", fmt.Sprintf("addPreviousOutputInEnv must be a boolean, not %s", v.TypeString()))
	}
	if v, ok := m["triggers"]; ok && known(v) && !v.IsNull() && !v.IsArray() {
		fail("triggers", fmt.Sprintf("triggers must be a list, not %s", v.TypeString()))
	}
	if v, ok := m["logging"]; ok && v.IsString() && !loggingSettings[v.StringValue()] {
		fail("logging", fmt.Sprintf("logging must be one of stdout, stderr, stdoutAndStderr, none, not %q", v.StringValue()))
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

	var diffs []string
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
		if k == "triggers" && oOK && nOK && o.IsArray() && n.IsArray() {
			// Upstream reports each changed element; the SDK's replaceOnChanges ["triggers[*]"] makes it a replace.
			for _, path := range changedElements(o.ArrayValue(), n.ArrayValue()) {
				detailed[path] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE, InputDiff: true}
			}
			continue
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
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}, nil
}

// changedElements names the elements of two lists that differ, as "triggers[i]".
func changedElements(olds, news []resource.PropertyValue) []string {
	var paths []string
	for i := 0; i < len(olds) || i < len(news); i++ {
		if i >= len(olds) || i >= len(news) || news[i].ContainsUnknowns() || !olds[i].DeepEquals(news[i]) {
			paths = append(paths, fmt.Sprintf("triggers[%d]", i))
		}
	}
	return paths
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
	logging     string
}

func str(m resource.PropertyMap, k resource.PropertyKey) string {
	if v, ok := m[k]; ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func specOf(inputs resource.PropertyMap) spec {
	m := plainMap(inputs)
	s := spec{dir: str(m, "dir"), stdin: str(m, "stdin"), addPrevious: true, logging: str(m, "logging")}
	if s.logging == "" {
		s.logging = "stdoutAndStderr"
	}
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

// run runs a command as upstream does: stdout and stderr are captured apart and also interleaved for the
// error text, and each line is sent to the engine as a status message of the resource when `logging` says so.
func (p *commandProvider) run(ctx context.Context, urn string, s spec, command string, extraEnv []string) (string, string, error) {
	argv := append(append([]string{}, s.interpreter...), command)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = s.dir
	cmd.Env = append(append([]string{}, s.env...), extraEnv...)
	if s.stdin != "" {
		cmd.Stdin = strings.NewReader(s.stdin)
	}
	var stdout, stderr, both bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout = &lineLogger{p: p, ctx: ctx, urn: urn, own: &stdout, both: &both, mu: &mu,
		log: s.logging == "stdout" || s.logging == "stdoutAndStderr"}
	cmd.Stderr = &lineLogger{p: p, ctx: ctx, urn: urn, own: &stderr, both: &both, mu: &mu,
		log: s.logging == "stderr" || s.logging == "stdoutAndStderr"}
	err := cmd.Run()
	cmd.Stdout.(*lineLogger).flush()
	cmd.Stderr.(*lineLogger).flush()
	out := strings.TrimSuffix(stdout.String(), "\n")
	errOut := strings.TrimSuffix(stderr.String(), "\n")
	if err != nil {
		return out, errOut, fmt.Errorf("%w: running %q:\n%s", err, command, strings.TrimSuffix(both.String(), "\n"))
	}
	return out, errOut, nil
}

// lineLogger keeps one stream's bytes, adds them to the interleaved buffer, and sends each complete line to the
// engine as an INFO status message of the resource.
type lineLogger struct {
	p       *commandProvider
	ctx     context.Context
	urn     string
	own     *bytes.Buffer
	both    *bytes.Buffer
	mu      *sync.Mutex
	log     bool
	pending []byte
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	l.own.Write(b)
	l.both.Write(b)
	l.mu.Unlock()
	l.pending = append(l.pending, b...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			break
		}
		l.send(string(l.pending[:i]))
		l.pending = l.pending[i+1:]
	}
	return len(b), nil
}

func (l *lineLogger) flush() {
	if len(l.pending) > 0 {
		l.send(string(l.pending))
		l.pending = nil
	}
}

func (l *lineLogger) send(line string) {
	if l.log && l.p.host != nil && l.urn != "" {
		_ = l.p.host.LogStatus(l.ctx, diag.Info, resource.URN(l.urn), line)
	}
}

// withOutputs: the inputs (keeping their secrecy) and stdout/stderr, which are never secret upstream.
func withOutputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	out := inputs.Copy()
	out["stdout"] = stdout
	out["stderr"] = stderr
	return out
}

func computed() resource.PropertyValue { return resource.MakeComputed(resource.NewStringProperty("")) }

// newID is the resource's name and 8 hex characters, as upstream's IDs are.
func newID(urn string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := urn
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		name = urn[i+2:]
	}
	return name + hex.EncodeToString(b)
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
		outs = withOutputs(inputs, computed(), computed())
	} else {
		stdout, stderr := "", ""
		if c := str(plainMap(inputs), "create"); c != "" {
			stdout, stderr, err = p.run(ctx, req.GetUrn(), s, c, nil)
			if err != nil {
				return nil, err
			}
		}
		outs = withOutputs(inputs, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	id := ""
	if !req.GetPreview() {
		id = newID(req.GetUrn())
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func plainMap(m resource.PropertyMap) resource.PropertyMap {
	v, _ := plain(resource.NewObjectProperty(m))
	return v.ObjectValue()
}

// previousEnv: the last run's output, each variable only when it is not empty (as upstream).
func previousEnv(olds resource.PropertyMap) []string {
	o := plainMap(olds)
	var env []string
	if v := str(o, "stdout"); v != "" {
		env = append(env, "PULUMI_COMMAND_STDOUT="+v)
	}
	if v := str(o, "stderr"); v != "" {
		env = append(env, "PULUMI_COMMAND_STDERR="+v)
	}
	return env
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

	// Any change of an input, even of only `delete` or `logging`, runs `update` or `create` again (upstream's
	// commandController); `triggers` never gets here, the engine replaces instead.
	runUpdate := false
	for _, k := range inputKeys {
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
		outs = withOutputs(news, computed(), computed())
	case runUpdate && update != "":
		var extra []string
		if s.addPrevious {
			extra = previousEnv(olds)
		}
		stdout, stderr, err := p.run(ctx, req.GetUrn(), s, update, extra)
		if err != nil {
			return nil, err
		}
		outs = withOutputs(news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
	default:
		stdout, ok := olds["stdout"]
		if !ok {
			stdout = resource.NewStringProperty("")
		}
		stderr, ok := olds["stderr"]
		if !ok {
			stderr = resource.NewStringProperty("")
		}
		outs = withOutputs(news, stdout, stderr)
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
		if _, _, err := p.run(ctx, req.GetUrn(), s, d, extra); err != nil {
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
	stdout, stderr, err := p.run(ctx, "", s, command, nil)
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

// Command pulumi-language-nodejs is a small Node.js language host written for
// this repository's offline end-to-end tests.
//
// The upstream host (module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// is not served by the Go module proxy reachable from our machines, so this
// program implements the part of the LanguageRuntime gRPC protocol that
// `pulumi preview/up/destroy/refresh` and the Automation API need to run a
// TypeScript/JavaScript program with the @pulumi/pulumi npm package:
//
//   - Run: starts `node <@pulumi/pulumi/cmd/run> --monitor ... <entry point>`
//     in the program directory, passing config and options through the same
//     flags and environment variables that @pulumi/pulumi/cmd/run reads.
//   - GetRequiredPackages/GetRequiredPlugins: as the upstream host does, the
//     packages under node_modules whose package.json has "pulumi": {"resource":
//     true, ...}, so the engine loads those providers when the program starts.
//     With automatic plugin acquisition off, it finds them on $PATH.
//   - InstallDependencies: runs `npm install` (or yarn/pnpm by lock file).
//   - RunPlugin: runs a plugin written in Node.js (a folder with a
//     PulumiPlugin.yaml, `runtime: nodejs`), as the upstream host does: it starts
//     `node <@pulumi/pulumi/cmd/run-plugin> <plugin folder> <args>` in the
//     requested working directory with the engine's environment, and streams
//     its stdout and stderr back. run-plugin requires the folder's package.json
//     `main` and, when it exports ComponentResource classes, serves them as a
//     component provider whose schema the SDK infers from the TypeScript
//     sources (tests/engine/reuse.test.ts uses our component this way).
//   - About, GetProgramDependencies, GetPluginInfo, Handshake.
//
// Anything else (code generation, packing, policy packs) answers Unimplemented.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// version is set with -ldflags "-X main.version=...".
var version = "3.0.0"

// The Node.js SDK exits with this code after it has already printed an
// actionable error message; the engine should then not print another one.
const nodeExitedAfterUserActionableMessage = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	// Defaults from the command line (older engines pass runtime options as flags).
	typescript    bool
	tsconfig      string
	nodeargs      string
	packagemanger string
}

func main() {
	fs := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	tracing := fs.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	typescript := fs.Bool("typescript", true, "Use ts-node at runtime to support typescript source natively")
	root := fs.String("root", "", "Project root path to use")
	tsconfig := fs.String("tsconfig", "", "Path to tsconfig.json to use")
	nodeargs := fs.String("nodeargs", "", "Arguments for the Node process")
	packagemanager := fs.String("packagemanager", "", "Package manager to use for installing dependencies")
	_ = fs.Bool("logtostderr", false, "ignored")
	_ = fs.Bool("logflow", false, "ignored")
	_ = fs.Int("v", 0, "ignored")
	showVersion := fs.Bool("version", false, "Print the version and exit")
	_ = root
	if err := fs.Parse(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println(version)
		return
	}

	h := &host{
		tracing:       *tracing,
		typescript:    *typescript,
		tsconfig:      *tsconfig,
		nodeargs:      *nodeargs,
		packagemanger: *packagemanager,
	}
	if args := fs.Args(); len(args) > 0 {
		h.engineAddress = args[0]
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	packages, err := resourcePackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, p := range packages {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	packages, err := resourcePackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	var deps []*pulumirpc.PackageDependency
	for _, p := range packages {
		deps = append(deps, &pulumirpc.PackageDependency{
			Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// resourcePackage is the "pulumi" section of a provider SDK's package.json.
type resourcePackage struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

// resourcePackages walks dir/node_modules (scoped packages and nested node_modules too, following symlinks,
// as npm links them) for provider SDKs, each name and version once.
func resourcePackages(dir string) ([]resourcePackage, error) {
	if dir == "" {
		dir, _ = os.Getwd()
	}
	seen := map[string]bool{}
	var found []resourcePackage
	var walk func(modules string, depth int)
	walk = func(modules string, depth int) {
		entries, err := os.ReadDir(modules)
		if err != nil || depth > 8 {
			return
		}
		for _, e := range entries {
			pkgDir := filepath.Join(modules, e.Name())
			if strings.HasPrefix(e.Name(), "@") {
				walk(pkgDir, depth)
				continue
			}
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			var pkg struct {
				Version string          `json:"version"`
				Pulumi  resourcePackage `json:"pulumi"`
			}
			if data, err := os.ReadFile(filepath.Join(pkgDir, "package.json")); err == nil && json.Unmarshal(data, &pkg) == nil &&
				pkg.Pulumi.Resource {
				p := pkg.Pulumi
				if p.Version == "" {
					p.Version = pkg.Version
				}
				if p.Name != "" && !seen[p.Name+"@"+p.Version] {
					seen[p.Name+"@"+p.Version] = true
					found = append(found, p)
				}
			}
			walk(filepath.Join(pkgDir, "node_modules"), depth+1)
		}
	}
	walk(filepath.Join(dir, "node_modules"), 0)
	return found, nil
}

// options are the `runtime.options` of Pulumi.yaml that this host understands.
type options struct {
	typescript     bool
	tsconfig       string
	nodeargs       string
	packagemanager string
}

func (h *host) options(info *pulumirpc.ProgramInfo) options {
	o := options{
		typescript:     h.typescript,
		tsconfig:       h.tsconfig,
		nodeargs:       h.nodeargs,
		packagemanager: h.packagemanger,
	}
	if info == nil || info.GetOptions() == nil {
		return o
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		o.typescript = v
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		o.nodeargs = v
	}
	if v, ok := m["packagemanager"].(string); ok {
		o.packagemanager = v
	}
	return o
}

func programDir(req *pulumirpc.RunRequest) string {
	if d := req.GetInfo().GetProgramDirectory(); d != "" {
		return d
	}
	if req.GetPwd() != "" {
		return req.GetPwd()
	}
	wd, _ := os.Getwd()
	return wd
}

func nodeBinary() (string, error) {
	p, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("could not find `node` on $PATH; install Node.js")
	}
	return p, nil
}

// resolveRunScript finds @pulumi/pulumi/cmd/run the way Node would from dir.
func resolveRunScript(node, dir string) (string, error) {
	return resolveModule(node, dir, "@pulumi/pulumi/cmd/run")
}

// resolveModule finds a module the way Node's require.resolve would from dir.
func resolveModule(node, dir, module string) (string, error) {
	cmd := exec.Command(node, "-e", "console.log(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("it looks like the Pulumi SDK has not been installed in %s: "+
			"could not resolve %s (%v): %s; have you run `npm install`?",
			dir, module, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	node, err := nodeBinary()
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	dir := programDir(req)
	runPath, err := resolveRunScript(node, dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	opts := h.options(req.GetInfo())

	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()

	var args []string
	if opts.nodeargs != "" {
		args = append(args, strings.Fields(opts.nodeargs)...)
	}
	args = append(args, runPath)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k+"="+v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engine)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("root-directory", req.GetInfo().GetRootDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetQueryMode() {
		args = append(args, "--query-mode")
	}
	if req.GetParallel() > 1 {
		add("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	add("tracing", h.tracing)
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram()
	}
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env := os.Environ()
	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{}
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	env = append(env, "PULUMI_CONFIG="+string(config))
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	sk, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env = append(env, "PULUMI_CONFIG_SECRET_KEYS="+string(sk))
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok {
				if ws.Signaled() {
					return &pulumirpc.RunResponse{
						Error: fmt.Sprintf("Program exited due to a signal: %v", ws.Signal()),
					}, nil
				}
				if ws.ExitStatus() == nodeExitedAfterUserActionableMessage {
					return &pulumirpc.RunResponse{Bail: true}, nil
				}
				return &pulumirpc.RunResponse{
					Error: fmt.Sprintf("Program exited with non-zero exit code: %d", ws.ExitStatus()),
				}, nil
			}
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

func packageManagerCommand(dir, pm string) []string {
	switch pm {
	case "yarn":
		return []string{"yarn", "install"}
	case "pnpm":
		return []string{"pnpm", "install"}
	case "bun":
		return []string{"bun", "install"}
	case "npm":
		return []string{"npm", "install", "--loglevel=error"}
	}
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	switch {
	case exists("yarn.lock"):
		return []string{"yarn", "install"}
	case exists("pnpm-lock.yaml"):
		return []string{"pnpm", "install"}
	case exists("bun.lockb"), exists("bun.lock"):
		return []string{"bun", "install"}
	}
	return []string{"npm", "install", "--loglevel=error"}
}

type streamWriter struct {
	send   func(*pulumirpc.InstallDependenciesResponse) error
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	resp := &pulumirpc.InstallDependenciesResponse{Stdout: b}
	if w.stderr {
		resp = &pulumirpc.InstallDependenciesResponse{Stderr: b}
	}
	if err := w.send(resp); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	opts := h.options(req.GetInfo())
	argv := packageManagerCommand(dir, opts.packagemanager)
	var mu sync.Mutex
	send := func(r *pulumirpc.InstallDependenciesResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return server.Send(r)
	}
	cmd := exec.CommandContext(server.Context(), argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = streamWriter{send: send}
	cmd.Stderr = streamWriter{send: send, stderr: true}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed in %s: %w", strings.Join(argv, " "), dir, err)
	}
	return nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := nodeBinary()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// GetProgramDependencies lists the direct dependencies from package.json with
// the versions installed under node_modules.
func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram()
	}
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading package.json: %w", err)
	}
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return nil, fmt.Errorf("parsing package.json: %w", err)
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	add := func(deps map[string]string) {
		for name, want := range deps {
			v := want
			if b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json")); err == nil {
				var p struct {
					Version string `json:"version"`
				}
				if json.Unmarshal(b, &p) == nil && p.Version != "" {
					v = p.Version
				}
			}
			resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: v})
		}
	}
	add(pkg.Dependencies)
	if req.GetTransitiveDependencies() {
		add(pkg.DevDependencies)
	}
	return resp, nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// RunPlugin runs a Node.js plugin. Like the upstream host it resolves
// @pulumi/pulumi/cmd/run-plugin from the plugin's folder (PULUMI_LANGUAGE_NODEJS_RUN_PATH
// overrides it), passes the folder first and the engine's arguments after it,
// runs in req.Pwd with req.Env, and reports a non-zero exit as an error. Unlike
// upstream, `nodeargs` go before the script, where node reads its own flags;
// policy packs (kind "analyzer") and debugger attachment are not supported.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	if req.GetKind() == "analyzer" {
		return status.Error(codes.Unimplemented, "this test build of pulumi-language-nodejs cannot run policy packs")
	}
	if req.GetAttachDebugger() {
		return status.Error(codes.Unimplemented, "this test build of pulumi-language-nodejs cannot attach a debugger")
	}
	ctx := server.Context()
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		return status.Error(codes.InvalidArgument, "RunPlugin: no plugin directory in the request")
	}
	node, err := nodeBinary()
	if err != nil {
		return err
	}
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		runPath = "@pulumi/pulumi/cmd/run-plugin"
	}
	if runPath, err = resolveModule(node, dir, runPath); err != nil {
		return err
	}
	opts := h.options(req.GetInfo())

	var args []string
	if opts.nodeargs != "" {
		args = append(args, strings.Fields(opts.nodeargs)...)
	}
	args = append(args, runPath, dir)
	args = append(args, req.GetArgs()...)

	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return fmt.Errorf("plugin exited due to a signal: %v", ws.Signal())
			}
			return fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return fmt.Errorf("Problem executing plugin program (could not run language executor): %w", err)
	}
	return closer.Close()
}

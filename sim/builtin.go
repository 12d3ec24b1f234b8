package sim

import (
	"embed"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed scenarios/*.yaml policies/*.yaml
var builtins embed.FS

// DefaultScenario runs when none is named. It is synthetic, so it runs on
// a fresh clone without the traces.
const DefaultScenario = "brownout"

var discardLogger = slog.New(slog.DiscardHandler)

// BuiltinScenarios lists the embedded scenarios by name.
func BuiltinScenarios() []string {
	ents, _ := builtins.ReadDir("scenarios")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// BuiltinPolicies returns the embedded policies file of a topology.
func BuiltinPolicies(topology string) (name string, data []byte, err error) {
	name = "policies/" + topology + ".yaml"
	data, err = builtins.ReadFile(name)
	if err != nil {
		return "", nil, fmt.Errorf("no built-in policies for topology %q", topology)
	}
	return "builtin:" + name, data, nil
}

// LoadScenario reads a built-in scenario by name, or a scenario file.
func LoadScenario(nameOrPath string) (*Scenario, error) {
	if b, err := builtins.ReadFile("scenarios/" + nameOrPath + ".yaml"); err == nil && !strings.ContainsAny(nameOrPath, `/\.`) {
		return ParseScenario("builtin:"+nameOrPath, b)
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("scenario %q: no such file, and not a built-in scenario (built in: %s)", nameOrPath, strings.Join(BuiltinScenarios(), ", "))
		}
		return nil, err
	}
	sc, err := ParseScenario(nameOrPath, b)
	if err != nil {
		return nil, err
	}
	sc.dir = filepath.Dir(nameOrPath)
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(filepath.Base(nameOrPath), filepath.Ext(nameOrPath))
	}
	return sc, nil
}

// LoadPolicies returns the policies file at path, or, when path is empty,
// the one the scenario names or its topology's built-in one: what
// `--policies` means to every command that simulates.
func LoadPolicies(sc *Scenario, path string) (name string, data []byte, err error) {
	if path == "" {
		return PoliciesFor(sc)
	}
	data, err = os.ReadFile(path)
	return path, data, err
}

// PoliciesFor returns the policies file a scenario names, or its
// topology's built-in one.
func PoliciesFor(sc *Scenario) (name string, data []byte, err error) {
	if sc.Policies == "" {
		return BuiltinPolicies(sc.Topology.Kind)
	}
	p := sc.Policies
	if !filepath.IsAbs(p) && sc.dir != "" {
		p = filepath.Join(sc.dir, p)
	}
	data, err = os.ReadFile(p)
	return p, data, err
}

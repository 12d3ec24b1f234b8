package sim

import "github.com/autotuner/autotuner/config"

type configTarget = config.Target

func parsePolicies(s *Setup) (*config.File, error) { return config.Parse(s.PoliciesName, s.Policies) }

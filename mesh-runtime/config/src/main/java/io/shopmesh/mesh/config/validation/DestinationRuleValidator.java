package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.Set;

/** DestinationRule checks (Istio's validateDestinationRule): host, subsets, exportTo. */
final class DestinationRuleValidator {

  private final Checks checks;

  DestinationRuleValidator(Checks checks) {
    this.checks = checks;
  }

  void validate(JsonNode spec) {
    String err = Checks.wildcardDomain(spec.path("host").asText(""));
    if (err != null) {
      checks.error("spec.host", err);
    }
    TrafficPolicyValidator policies = new TrafficPolicyValidator(checks);
    policies.validate(spec.path("trafficPolicy"), "spec.trafficPolicy");
    Set<String> names = new HashSet<>();
    JsonNode subsets = spec.path("subsets");
    for (int i = 0; i < subsets.size(); i++) {
      JsonNode s = subsets.get(i);
      String p = "spec.subsets[" + i + "]";
      String name = s.path("name").asText("");
      if (!names.add(name)) {
        checks.error(p + ".name", "duplicate subset names: " + name);
      }
      checks.subsetName(name, p + ".name");
      checks.labels(s.path("labels"), p + ".labels");
      policies.validate(s.path("trafficPolicy"), p + ".trafficPolicy");
    }
    checks.exportTo(spec.path("exportTo"), false);
    if (spec.has("workloadSelector") && !spec.path("exportTo").isEmpty()) {
      Set<String> set = new HashSet<>();
      for (JsonNode e : spec.path("exportTo")) {
        set.add(e.asText().equals(".") ? checks.namespace() : e.asText());
      }
      if (set.contains(checks.namespace())) {
        if (set.size() > 1) {
          checks.error(
              "spec.exportTo",
              "destination rule with workload selector cannot have multiple entries in exportTo");
        }
      } else {
        checks.error(
            "spec.exportTo",
            "destination rule with workload selector cannot have exportTo beyond current namespace");
      }
    }
  }
}

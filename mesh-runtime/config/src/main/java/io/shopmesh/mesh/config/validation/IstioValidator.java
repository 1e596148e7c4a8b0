package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * The checks of Istio's validating webhook (pkg/config/validation) for VirtualService,
 * DestinationRule, Gateway and ServiceEntry, with Istio's wording. Runs after the CRD schema checks
 * have passed, as the webhook does behind the API server. One validator per kind; the checks they
 * share live in {@link Checks}.
 */
public final class IstioValidator {

  private IstioValidator() {}

  /** Webhook checks for one object; {@code object} is the whole resource (metadata and spec). */
  public static List<Violation> validate(String kind, JsonNode object) {
    String ns = object.path("metadata").path("namespace").asText("default");
    Checks checks = new Checks(ns.isEmpty() ? "default" : ns);
    JsonNode spec = object.path("spec");
    switch (kind) {
      case "VirtualService" -> new VirtualServiceValidator(checks).validate(spec);
      case "DestinationRule" -> new DestinationRuleValidator(checks).validate(spec);
      case "Gateway" ->
          new GatewayValidator(checks)
              .validate(object.path("metadata").path("name").asText(""), spec);
      case "ServiceEntry" -> new ServiceEntryValidator(checks).validate(spec);
      case "AuthorizationPolicy" -> new AuthorizationPolicyValidator(checks).validate(spec);
      default -> {}
    }
    return checks.violations();
  }
}

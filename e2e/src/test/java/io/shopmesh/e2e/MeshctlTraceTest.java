package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code meshctl trace} on the local mesh: the walkthrough's request through the gateway, the
 * frontend and a product pod, with the rules, their YAML lines, the weighted pick and the pod that
 * answered. Local only: trace reads the proxies of {@code meshctl up}.
 */
@ExtendWith(MeshExtension.class)
class MeshctlTraceTest {

  @Test
  void traceNamesEachRuleItsLineTheWeightedPickAndTheProductPod(MeshTarget target) {
    assumeTrue(target instanceof LocalMeshTarget, "meshctl trace reads the local mesh's proxies");
    LocalMeshTarget local = (LocalMeshTarget) target;
    MeshTarget.Result r =
        local.run(
            Duration.ofSeconds(60),
            "trace",
            "-H",
            "Host: shop.example.com",
            target.gateway().resolve("/products").toString());
    String out = r.output();
    assertThat(r.exitCode()).as(out).isZero();
    assertThat(out)
        .contains("[gateway] GET shop.example.com/products -> 200")
        .contains("VirtualService default/frontend-vs http[0]")
        .contains("frontend-virtualservice.yaml:")
        .contains("[sidecar inbound]")
        .contains("[sidecar outbound]")
        .contains("VirtualService default/product-vs http[");
    Matcher line = Pattern.compile("product-virtualservice\\.yaml:(\\d+)").matcher(out);
    assertThat(line.find()).as(out).isTrue();
    Matcher pick =
        Pattern.compile(
                "weighted: outbound\\|8080\\|v1\\|product-service\\S* 80, .* -> picked outbound\\|8080\\|(v[12])\\|")
            .matcher(out);
    assertThat(pick.find()).as(out).isTrue();
    // the product pod of the version picked answered, on its own sidecar
    assertThat(out).containsPattern("\\(product-service-" + pick.group(1) + "-[^)]*\\) 200");
  }
}

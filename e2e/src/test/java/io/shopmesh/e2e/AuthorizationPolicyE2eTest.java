package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * An AuthorizationPolicy applied to the running mesh: a DENY on the frontend for {@code
 * /forbidden*} makes the frontend's sidecar answer 403 {@code RBAC: access denied} for that path
 * (seen through the gateway, counted by the frontend's proxy with {@code response_code="403"})
 * while the shop page keeps answering 200.
 */
@ExtendWith(MeshExtension.class)
class AuthorizationPolicyE2eTest {

  @Test
  void aDenyPolicyAnswers403ThroughTheGatewayAndLeavesTheRestAlone(
      MeshTarget mesh, @TempDir Path tmp) throws Exception {
    ShopClient shop = new ShopClient(mesh.gateway());
    Path f = tmp.resolve("deny-forbidden.yaml");
    Files.writeString(
        f,
        """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: frontend-deny-forbidden, namespace: default}
        spec:
          selector: {matchLabels: {app: frontend}}
          action: DENY
          rules:
          - to: [{operation: {paths: ["/forbidden*"]}}]
        """);
    MeshTarget.Result applied = mesh.apply(f);
    assertThat(applied.exitCode()).as(applied.output()).isZero();
    ShopClient.Response r = shop.get("/forbidden/x");
    long deadline = System.currentTimeMillis() + 30_000;
    while (r.status() != 403 && System.currentTimeMillis() < deadline) {
      Thread.sleep(200);
      r = shop.get("/forbidden/x");
    }
    assertThat(r.status()).as(r.body()).isEqualTo(403);
    assertThat(r.body()).isEqualTo("RBAC: access denied");
    assertThat(shop.get("/").status()).isEqualTo(200);
    String denied =
        "istio_requests_total{reporter=\"destination\",destination_app=\"frontend\","
            + "response_code=\"403\"}";
    double count = mesh.metric(denied);
    for (int i = 0; i < 50 && count < 1; i++) {
      Thread.sleep(100);
      count = mesh.metric(denied);
    }
    assertThat(count).isGreaterThanOrEqualTo(1);
    System.out.println(
        "[figure] frontend-deny-forbidden: 403 RBAC: access denied; " + denied + " = " + count);
  }
}

package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SyncStatusTest {

  @Test
  void readsNestedPerTypeStatus() throws Exception {
    Map<String, SyncStatus.Proxy> m =
        SyncStatus.parse(
            """
        [{"proxy":"sidecar~127.0.1.11~frontend-abc-x1y2z.default~default.svc.cluster.local",
          "pod":"frontend-abc-x1y2z","namespace":"default",
          "CDS":{"sent":"3","acked":"3","status":"SYNCED"},
          "LDS":{"sent":"3","acked":"3","status":"SYNCED"},
          "EDS":{"sent":"4","acked":"3","status":"STALE"},
          "RDS":{"status":"NOT_SENT"}}]
        """);
    SyncStatus.Proxy p = m.get("frontend-abc-x1y2z");
    assertThat(p.type("CDS")).isEqualTo("SYNCED");
    assertThat(p.type("EDS")).isEqualTo("STALE");
    assertThat(p.type("RDS")).isEqualTo("NOT SENT");
    assertThat(p.synced()).isFalse();
  }

  @Test
  void takesThePodFromTheProxyIdAndStatusesAsStrings() throws Exception {
    Map<String, SyncStatus.Proxy> m =
        SyncStatus.parse(
            """
        {"proxies":[{"proxyId":"router~127.0.1.1~istio-ingressgateway-5c9d-abcde.istio-system~istio-system.svc.cluster.local",
          "types":{"cds":"SYNCED","lds":"SYNCED","eds":"SYNCED","rds":"SYNCED"}}]}
        """);
    SyncStatus.Proxy p = m.get("istio-ingressgateway-5c9d-abcde");
    assertThat(p.namespace()).isEqualTo("istio-system");
    assertThat(p.synced()).isTrue();
  }

  @Test
  void readsAListOfTypeEntries() throws Exception {
    Map<String, SyncStatus.Proxy> m =
        SyncStatus.parse(
            """
        [{"name":"p1","xds":[{"type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","status":"SYNCED"},
                             {"type":"LDS","status":"SYNCED"}]}]
        """);
    assertThat(m.get("p1").synced()).isTrue();
    assertThat(m.get("p1").type("RDS")).isEqualTo("NOT SENT");
  }
}

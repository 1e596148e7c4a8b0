package io.shopmesh.mesh.xds.authz;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;

/** The {@code envoy.filters.http.rbac} filter for one action's rules and shadow rules. */
final class HttpRbac {

  private HttpRbac() {}

  static HttpFilter filter(RbacBuilder.Built b) {
    RBAC.Builder rbac = RBAC.newBuilder();
    if (b.rules() != null) {
      rbac.setRules(b.rules());
    }
    if (b.shadow() != null) {
      rbac.setShadowRules(b.shadow());
    }
    rbac.setShadowRulesStatPrefix(RbacBuilder.shadowPrefix(b.shadow()));
    return HttpFilter.newBuilder()
        .setName(RbacBuilder.HTTP_RBAC)
        .setTypedConfig(Any.pack(rbac.build()))
        .build();
  }
}

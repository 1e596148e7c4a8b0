package io.shopmesh.mesh.xds.authz;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC;

/** The {@code envoy.filters.network.rbac} filter for one action's rules and shadow rules. */
final class TcpRbac {

  private TcpRbac() {}

  /** The filter config's type, for reading and printing it as JSON. */
  static Descriptor configDescriptor() {
    return RBAC.getDescriptor();
  }

  static Filter filter(RbacBuilder.Built b) {
    RBAC.Builder rbac = RBAC.newBuilder().setStatPrefix(RbacBuilder.TCP_STAT_PREFIX);
    if (b.rules() != null) {
      rbac.setRules(b.rules());
    }
    if (b.shadow() != null) {
      rbac.setShadowRules(b.shadow());
    }
    rbac.setShadowRulesStatPrefix(RbacBuilder.shadowPrefix(b.shadow()));
    return Filter.newBuilder()
        .setName(RbacBuilder.TCP_RBAC)
        .setTypedConfig(Any.pack(rbac.build()))
        .build();
  }
}

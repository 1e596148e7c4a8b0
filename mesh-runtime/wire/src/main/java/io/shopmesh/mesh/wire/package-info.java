/**
 * The names both sides of xDS must agree on, defined once: the control plane builds them (xds), the
 * data plane parses them (proxy), the CLI reads them back (meshctl). Dependency-free so that the
 * proxy can use it without any control-plane code.
 */
package io.shopmesh.mesh.wire;

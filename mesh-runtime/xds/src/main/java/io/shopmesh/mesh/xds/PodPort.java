package io.shopmesh.mesh.xds;

/** A container port as the node metadata's POD_PORTS lists it. */
public record PodPort(String name, int containerPort, String protocol) {}

"""A cluster's nodes are configured to find each other, never as single nodes."""

from __future__ import annotations

from pathlib import Path

from engine import _cluster, _elasticsearch


def test_fixed_ports_count_up_from_the_first_with_transport_at_plus_100() -> None:
    assert _cluster._ports(3, 9200) == ([9200, 9201, 9202], [9300, 9301, 9302])


def test_free_ports_are_distinct_and_avoid_the_development_ports() -> None:
    http, transport = _cluster._ports(3, 0)
    ports = http + transport
    assert len(set(ports)) == 6 and not {9200, 9201} & set(ports)


def test_a_cluster_node_lists_every_peer_and_is_not_a_single_node(tmp_path: Path) -> None:
    discovery = ("discovery.seed_hosts: [127.0.0.1:9300, 127.0.0.1:9301]",
                 "cluster.initial_master_nodes: [es-0, es-1]")
    yaml = _elasticsearch._config_yaml(cluster_name="c", http_port=9200, transport_port=9300, data=tmp_path / "d",
                                       logs=tmp_path / "l", security_module=False, node_name="es-1",
                                       discovery=discovery, settings={"node.processors": 1})
    lines = yaml.splitlines()
    assert "node.name: es-1" in lines and "node.processors: 1" in lines
    assert discovery[0] in lines and discovery[1] in lines
    assert not any(line.startswith("discovery.type") for line in lines)


def test_a_single_node_keeps_single_node_discovery(tmp_path: Path) -> None:
    yaml = _elasticsearch._config_yaml(cluster_name="c", http_port=9200, transport_port=9300, data=tmp_path / "d",
                                       logs=tmp_path / "l", security_module=False)
    assert "discovery.type: single-node" in yaml.splitlines()


def test_opensearch_bootstraps_with_the_cluster_manager_setting() -> None:
    assert _cluster.INITIAL_MANAGERS["opensearch"] == "cluster.initial_cluster_manager_nodes"
    assert _cluster.INITIAL_MANAGERS["elasticsearch"] == "cluster.initial_master_nodes"

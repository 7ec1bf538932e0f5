# ruff: noqa: E501
"""Literal `bao` (OpenBao 2.7.2) outputs for canned sys/ and error responses.

Each scenario maps request paths to (status, JSON body or raw text, extra headers);
`bao` ran against a local server answering that way, with its address replaced
by `API` in the captured text. Do not edit by hand.
"""

from __future__ import annotations

from typing import Any

SCENARIOS: dict[str, dict[str, list[Any]]] = {
    "ha_active": {
        "/v1/sys/seal-status": [
            200,
            {
                "type": "shamir",
                "initialized": True,
                "sealed": False,
                "t": 2,
                "n": 3,
                "progress": 0,
                "nonce": "",
                "version": "2.7.2",
                "build_date": "",
                "commit_date": "2026-10-26T20:32:27Z",
                "migration": False,
                "cluster_name": "vault-cluster-0981f12c",
                "cluster_id": "c3e22909-5d4c-2b1e-8c5d-7a2c7a1d2a11",
                "recovery_seal": False,
                "storage_type": "raft",
            },
        ],
        "/v1/sys/leader": [
            200,
            {
                "ha_enabled": True,
                "is_self": True,
                "active_time": "2026-11-25T05:46:19.369235844Z",
                "leader_address": "https://127.0.0.1:8200",
                "leader_cluster_address": "https://127.0.0.1:8201",
                "performance_standby": False,
                "performance_standby_last_remote_wal": 0,
                "raft_committed_index": 33,
                "raft_applied_index": 33,
            },
        ],
    },
    "ha_standby": {
        "/v1/sys/seal-status": [
            200,
            {
                "type": "shamir",
                "initialized": True,
                "sealed": False,
                "t": 2,
                "n": 3,
                "progress": 0,
                "nonce": "",
                "version": "2.7.2",
                "build_date": "",
                "commit_date": "2026-10-26T20:32:27Z",
                "migration": False,
                "cluster_name": "vault-cluster-0981f12c",
                "cluster_id": "c3e22909-5d4c-2b1e-8c5d-7a2c7a1d2a11",
                "recovery_seal": False,
                "storage_type": "raft",
            },
        ],
        "/v1/sys/leader": [
            200,
            {
                "ha_enabled": True,
                "is_self": False,
                "active_time": "0001-01-01T00:00:00Z",
                "leader_address": "https://10.0.0.1:8200",
                "leader_cluster_address": "",
                "raft_committed_index": 0,
                "raft_applied_index": 0,
            },
        ],
    },
    "sealed": {
        "/v1/sys/seal-status": [
            200,
            {
                "type": "shamir",
                "initialized": True,
                "sealed": True,
                "t": 2,
                "n": 3,
                "progress": 1,
                "nonce": "f8ae96eb-a28b-22ce-7f85-1f51f2a40d36",
                "version": "2.7.2",
                "build_date": "",
                "commit_date": "2026-10-26T20:32:27Z",
                "migration": False,
                "recovery_seal": False,
                "storage_type": "inmem",
            },
        ],
        "/v1/sys/leader": [200, {"ha_enabled": False}],
        "/v1/sys/unseal": [
            200,
            {
                "type": "shamir",
                "initialized": True,
                "sealed": True,
                "t": 2,
                "n": 3,
                "progress": 1,
                "nonce": "f8ae96eb-a28b-22ce-7f85-1f51f2a40d36",
                "version": "2.7.2",
                "build_date": "",
                "commit_date": "2026-10-26T20:32:27Z",
                "migration": False,
                "recovery_seal": False,
                "storage_type": "inmem",
            },
        ],
        "/v1/sys/key-status": [503, {"errors": ["Vault is sealed"]}],
        "/v1/secret/foo": [503, {"errors": ["Vault is sealed"]}],
    },
    "sealed_ha": {
        "/v1/sys/seal-status": [
            200,
            {
                "type": "shamir",
                "initialized": True,
                "sealed": True,
                "t": 2,
                "n": 3,
                "progress": 1,
                "nonce": "f8ae96eb-a28b-22ce-7f85-1f51f2a40d36",
                "version": "2.7.2",
                "build_date": "",
                "commit_date": "2026-10-26T20:32:27Z",
                "migration": False,
                "recovery_seal": False,
                "storage_type": "inmem",
            },
        ],
        "/v1/sys/leader": [503, {"errors": ["Vault is sealed"]}],
    },
    "keys": {
        "/v1/sys/seal-status": [
            200,
            {
                "type": "shamir",
                "initialized": False,
                "sealed": True,
                "t": 2,
                "n": 3,
                "progress": 0,
                "nonce": "",
                "version": "2.7.2",
                "build_date": "",
                "commit_date": "2026-10-26T20:32:27Z",
                "migration": False,
                "cluster_name": "vault-cluster-0981f12c",
                "cluster_id": "c3e22909-5d4c-2b1e-8c5d-7a2c7a1d2a11",
                "recovery_seal": False,
                "storage_type": "raft",
            },
        ],
        "/v1/sys/init": [
            200,
            {
                "keys": ["b08d9705f993e71dd7913fffcc7155404f3e79fedb6e1532f45105b1b5d12ec6", "aa"],
                "keys_base64": ["sI2XBfmT5x3XkT//83FVQE8+ef7bbhUy9FEFsbXRLsY=", "qg=="],
                "root_token": "s.0SjoFgABWD5FAb40pRT60ClK",
            },
        ],
        "/v1/sys/key-status": [
            200,
            {
                "term": 4,
                "install_time": "2026-11-25T09:46:56.113617701Z",
                "encryptions": 34,
                "request_id": "x",
                "data": {
                    "term": 4,
                    "install_time": "2026-11-25T09:46:56.113617701Z",
                    "encryptions": 34,
                },
            },
        ],
        "/v1/sys/rotate/keyring": [204, None],
        "/v1/sys/seal": [204, None],
    },
    "errors": {
        "/v1/secret/multi": [400, {"errors": ["a", "b\nc"]}],
        "/v1/secret/raw": [502, "<html>oops</html>"],
        "/v1/secret/empty": [500, ""],
        "/v1/secret/ns": [403, {"errors": ["permission denied"]}, {"X-Vault-Namespace": "ns1/"}],
        "/v1/secret/warn404": [404, {"request_id": "r", "data": None, "warnings": ["careful"]}],
        "/v1/secret/gone": [404, {"errors": []}],
        "/v1/sys/seal-status": [500, "boom"],
        "/v1/secret/redir": [307, None, {"Location": "/v1/secret/target"}],
        "/v1/secret/target": [200, {"request_id": "t", "data": {"moved": "yes"}}],
    },
}

OUTPUTS: dict[str, tuple[str, str, int]] = {
    "ha_active|status": (
        "Key                     Value\n---                     -----\nSeal Type               shamir\nInitialized             true\nSealed                  false\nTotal Shares            3\nThreshold               2\nVersion                 2.7.2\nCommit Date             2026-10-26T20:32:27Z\nStorage Type            raft\nCluster Name            vault-cluster-0981f12c\nCluster ID              c3e22909-5d4c-2b1e-8c5d-7a2c7a1d2a11\nHA Enabled              true\nHA Cluster              https://127.0.0.1:8201\nHA Mode                 active\nActive Since            2026-11-25T05:46:19.369235844Z\nRaft Committed Index    33\nRaft Applied Index      33\n",
        "",
        0,
    ),
    "ha_active|status -format=json": (
        '{\n  "type": "shamir",\n  "initialized": true,\n  "sealed": false,\n  "t": 2,\n  "n": 3,\n  "progress": 0,\n  "nonce": "",\n  "version": "2.7.2",\n  "commit_date": "2026-10-26T20:32:27Z",\n  "migration": false,\n  "cluster_name": "vault-cluster-0981f12c",\n  "cluster_id": "c3e22909-5d4c-2b1e-8c5d-7a2c7a1d2a11",\n  "recovery_seal": false,\n  "storage_type": "raft",\n  "build_date": "",\n  "ha_enabled": true,\n  "is_self": true,\n  "active_time": "2026-11-25T05:46:19.369235844Z",\n  "leader_address": "https://127.0.0.1:8200",\n  "leader_cluster_address": "https://127.0.0.1:8201",\n  "raft_committed_index": 33,\n  "raft_applied_index": 33\n}\n',
        "",
        0,
    ),
    "ha_active|status -format=yaml": (
        'active_time: "2026-11-25T05:46:19.369235844Z"\nbuild_date: ""\ncluster_id: c3e22909-5d4c-2b1e-8c5d-7a2c7a1d2a11\ncluster_name: vault-cluster-0981f12c\ncommit_date: "2026-10-26T20:32:27Z"\nha_enabled: true\ninitialized: true\nis_self: true\nleader_address: https://127.0.0.1:8200\nleader_cluster_address: https://127.0.0.1:8201\nmigration: false\n"n": 3\nnonce: ""\nprogress: 0\nraft_applied_index: 33\nraft_committed_index: 33\nrecovery_seal: false\nsealed: false\nstorage_type: raft\nt: 2\ntype: shamir\nversion: 2.7.2\n',
        "",
        0,
    ),
    "ha_active|status -field=active_time": ("2026-11-25T05:46:19.369235844Z", "", 0),
    "ha_active|status -field=is_self,omitempty": ("true", "", 0),
    "ha_active|status -field=leader_address": (
        "",
        'Field "leader_address" not present in seal status\n',
        0,
    ),
    "ha_standby|status": (
        "Key                    Value\n---                    -----\nSeal Type              shamir\nInitialized            true\nSealed                 false\nTotal Shares           3\nThreshold              2\nVersion                2.7.2\nCommit Date            2026-10-26T20:32:27Z\nStorage Type           raft\nCluster Name           vault-cluster-0981f12c\nCluster ID             c3e22909-5d4c-2b1e-8c5d-7a2c7a1d2a11\nHA Enabled             true\nHA Cluster             n/a\nHA Mode                standby\nActive Node Address    https://10.0.0.1:8200\n",
        "",
        0,
    ),
    "ha_standby|status -format=json": (
        '{\n  "type": "shamir",\n  "initialized": true,\n  "sealed": false,\n  "t": 2,\n  "n": 3,\n  "progress": 0,\n  "nonce": "",\n  "version": "2.7.2",\n  "commit_date": "2026-10-26T20:32:27Z",\n  "migration": false,\n  "cluster_name": "vault-cluster-0981f12c",\n  "cluster_id": "c3e22909-5d4c-2b1e-8c5d-7a2c7a1d2a11",\n  "recovery_seal": false,\n  "storage_type": "raft",\n  "build_date": "",\n  "ha_enabled": true,\n  "leader_address": "https://10.0.0.1:8200"\n}\n',
        "",
        0,
    ),
    "sealed|status": (
        "Key                Value\n---                -----\nSeal Type          shamir\nInitialized        true\nSealed             true\nTotal Shares       3\nThreshold          2\nUnseal Progress    1/2\nUnseal Nonce       f8ae96eb-a28b-22ce-7f85-1f51f2a40d36\nVersion            2.7.2\nCommit Date        2026-10-26T20:32:27Z\nStorage Type       inmem\nHA Enabled         false\n",
        "",
        2,
    ),
    "sealed|status -format=json": (
        '{\n  "type": "shamir",\n  "initialized": true,\n  "sealed": true,\n  "t": 2,\n  "n": 3,\n  "progress": 1,\n  "nonce": "f8ae96eb-a28b-22ce-7f85-1f51f2a40d36",\n  "version": "2.7.2",\n  "commit_date": "2026-10-26T20:32:27Z",\n  "migration": false,\n  "recovery_seal": false,\n  "storage_type": "inmem",\n  "build_date": "",\n  "ha_enabled": false\n}\n',
        "",
        2,
    ),
    "sealed|operator unseal -reset": (
        "Key                Value\n---                -----\nSeal Type          shamir\nInitialized        true\nSealed             true\nTotal Shares       3\nThreshold          2\nUnseal Progress    1/2\nUnseal Nonce       f8ae96eb-a28b-22ce-7f85-1f51f2a40d36\nVersion            2.7.2\nCommit Date        2026-10-26T20:32:27Z\nStorage Type       inmem\nHA Enabled         false\n",
        "",
        0,
    ),
    "sealed|operator unseal abcd": (
        "Key                Value\n---                -----\nSeal Type          shamir\nInitialized        true\nSealed             true\nTotal Shares       3\nThreshold          2\nUnseal Progress    1/2\nUnseal Nonce       f8ae96eb-a28b-22ce-7f85-1f51f2a40d36\nVersion            2.7.2\nCommit Date        2026-10-26T20:32:27Z\nStorage Type       inmem\nHA Enabled         false\n",
        "",
        0,
    ),
    "sealed|operator unseal -format=json abcd": (
        '{\n  "type": "shamir",\n  "initialized": true,\n  "sealed": true,\n  "t": 2,\n  "n": 3,\n  "progress": 1,\n  "nonce": "f8ae96eb-a28b-22ce-7f85-1f51f2a40d36",\n  "version": "2.7.2",\n  "commit_date": "2026-10-26T20:32:27Z",\n  "migration": false,\n  "recovery_seal": false,\n  "storage_type": "inmem",\n  "build_date": "",\n  "ha_enabled": false\n}\n',
        "",
        0,
    ),
    "sealed|operator key-status": (
        "",
        "Error reading key status: Error making API request.\n\nURL: GET http://API/v1/sys/key-status\nCode: 503. Errors:\n\n* Vault is sealed\n",
        2,
    ),
    "sealed|read secret/foo": (
        "",
        "Error reading secret/foo: Error making API request.\n\nURL: GET http://API/v1/secret/foo\nCode: 503. Errors:\n\n* Vault is sealed\n",
        2,
    ),
    "sealed_ha|status": (
        "Key                Value\n---                -----\nSeal Type          shamir\nInitialized        true\nSealed             true\nTotal Shares       3\nThreshold          2\nUnseal Progress    1/2\nUnseal Nonce       f8ae96eb-a28b-22ce-7f85-1f51f2a40d36\nVersion            2.7.2\nCommit Date        2026-10-26T20:32:27Z\nStorage Type       inmem\nHA Enabled         true\n",
        "",
        2,
    ),
    "keys|operator init -key-shares=2 -key-threshold=1": (
        'Unseal Key 1: sI2XBfmT5x3XkT//83FVQE8+ef7bbhUy9FEFsbXRLsY=\nUnseal Key 2: qg==\n\nInitial Root Token: s.0SjoFgABWD5FAb40pRT60ClK\n\nVault initialized with 2 key shares and a key threshold of 1. Please securely\ndistribute the key shares printed above. When the Vault is re-sealed,\nrestarted, or stopped, you must supply at least 1 of these keys to unseal it\nbefore it can start servicing requests.\n\nVault does not store the generated root key. Without at least 1 keys to\nreconstruct the root key, Vault will remain permanently sealed!\n\nIt is possible to generate new unseal keys, provided you have a quorum\nof existing unseal keys shares. See "bao operator rotate-keys" for more\ninformation.\n',
        "",
        0,
    ),
    "keys|operator init -format=json -key-shares=2 -key-threshold=1": (
        '{\n  "unseal_keys_b64": [\n    "sI2XBfmT5x3XkT//83FVQE8+ef7bbhUy9FEFsbXRLsY=",\n    "qg=="\n  ],\n  "unseal_keys_hex": [\n    "b08d9705f993e71dd7913fffcc7155404f3e79fedb6e1532f45105b1b5d12ec6",\n    "aa"\n  ],\n  "unseal_shares": 2,\n  "unseal_threshold": 1,\n  "recovery_keys_b64": null,\n  "recovery_keys_hex": null,\n  "recovery_keys_shares": 0,\n  "recovery_keys_threshold": 0,\n  "root_token": "s.0SjoFgABWD5FAb40pRT60ClK"\n}\n',
        "",
        0,
    ),
    "keys|operator init -format=yaml -key-shares=2 -key-threshold=1": (
        "recovery_keys_b64: null\nrecovery_keys_hex: null\nrecovery_keys_shares: 0\nrecovery_keys_threshold: 0\nroot_token: s.0SjoFgABWD5FAb40pRT60ClK\nunseal_keys_b64:\n- sI2XBfmT5x3XkT//83FVQE8+ef7bbhUy9FEFsbXRLsY=\n- qg==\nunseal_keys_hex:\n- b08d9705f993e71dd7913fffcc7155404f3e79fedb6e1532f45105b1b5d12ec6\n- aa\nunseal_shares: 2\nunseal_threshold: 1\n",
        "",
        0,
    ),
    "keys|operator init -status": ("Vault is not initialized\n", "", 2),
    "keys|operator key-status": (
        "Key Term            4\nInstall Time        25 Nov 26 09:46 UTC\nEncryption Count    34\n",
        "",
        0,
    ),
    "keys|operator key-status -format=json": (
        '{\n  "term": 4,\n  "install_time": "2026-11-25T09:46:56.113617701Z",\n  "encryptions": 34\n}\n',
        "",
        0,
    ),
    "keys|operator key-status -format=yaml": (
        'encryptions: 34\ninstall_time: "2026-11-25T09:46:56.113617701Z"\nterm: 4\n',
        "",
        0,
    ),
    "keys|operator rotate": (
        "Success! Rotated key\n\nKey Term            4\nInstall Time        25 Nov 26 09:46 UTC\nEncryption Count    34\n",
        "",
        0,
    ),
    "keys|operator seal": ("Success! Vault is sealed.\n", "", 0),
    "errors|read secret/multi": (
        "",
        "Error reading secret/multi: Error making API request.\n\nURL: GET http://API/v1/secret/multi\nCode: 400. Errors:\n\n* a* b\nc\n",
        2,
    ),
    "errors|read secret/raw": (
        "",
        "Error reading secret/raw: Error making API request.\n\nURL: GET http://API/v1/secret/raw\nCode: 502. Raw Message:\n\n<html>oops</html>\n",
        2,
    ),
    "errors|read secret/empty": (
        "",
        "Error reading secret/empty: Error making API request.\n\nURL: GET http://API/v1/secret/empty\nCode: 500. Raw Message:\n\n\n",
        2,
    ),
    "errors|read secret/ns": (
        "",
        "Error reading secret/ns: Error making API request.\n\nNamespace: ns1/\nURL: GET http://API/v1/secret/ns\nCode: 403. Errors:\n\n* permission denied\n",
        2,
    ),
    "errors|read secret/warn404": (
        "",
        "WARNING! The following warnings were returned from OpenBao:\n\n  * careful\n\n",
        0,
    ),
    "errors|write secret/warn404 a=1": (
        "",
        "Error writing data to secret/warn404: Error making API request.\n\nURL: PUT http://API/v1/secret/warn404\nCode: 404. Errors:\n\n\nWARNING! The following warnings were returned from OpenBao:\n\n  * careful\n\n",
        2,
    ),
    "errors|read secret/gone": ("", "No value found at secret/gone\n", 2),
    "errors|delete secret/gone": (
        "",
        "Error deleting secret/gone: Error making API request.\n\nURL: DELETE http://API/v1/secret/gone\nCode: 404. Errors:\n\n\n",
        2,
    ),
    "errors|status": (
        "",
        "Error checking seal status: Error making API request.\n\nURL: GET http://API/v1/sys/seal-status\nCode: 500. Raw Message:\n\nboom\n",
        1,
    ),
    "errors|read secret/redir": ("Key      Value\n---      -----\nmoved    yes\n", "", 0),
    "errors|list secret/multi": (
        "",
        "Error listing secret/multi: Error making API request.\n\nURL: GET http://API/v1/secret/multi?list=true\nCode: 400. Errors:\n\n* a* b\nc\n",
        2,
    ),
    "errors|read -format=raw secret/gone": (
        "",
        "Error reading: secret/gone: Error making API request.\n\nURL: GET http://API/v1/secret/gone\nCode: 404. Errors:\n\n\n",
        2,
    ),
}

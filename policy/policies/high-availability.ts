import { eachOf, isKnown, label, T, type TxwatchPolicy } from "../model.ts";

const definitelyNot = (value: unknown) => value !== true && isKnown(value);

export const highAvailability: TxwatchPolicy = {
  name: "multi-az-failover",
  description:
    "Checks whether the database and the cache survive the loss of an Availability Zone: Multi-AZ, a reader or replica, automatic failover.",
  scope: "stack",
  validate: (stack) => [
    ...eachOf(stack, [T.dbInstance], (r) => [
      definitelyNot(r.props.multiAz)
        ? `Database ${label(r)} must be Multi-AZ (multiAz true).`
        : undefined,
    ]),
    ...eachOf(stack, [T.dbCluster], (r) => {
      const instances = stack.referencing(r, T.clusterInstance, "clusterIdentifier").length;
      return [
        instances < 2
          ? `Aurora cluster ${label(r)} must have a writer and at least one reader in another Availability Zone (it has ${instances} instance${instances === 1 ? "" : "s"}).`
          : undefined,
      ];
    }),
    ...eachOf(stack, [T.replicationGroup], (r) => {
      const clusters = r.props.numCacheClusters;
      const replicas = r.props.replicasPerNodeGroup;
      const enough =
        (typeof clusters === "number" && clusters >= 2) ||
        (typeof replicas === "number" && replicas >= 1) ||
        !isKnown(clusters) ||
        !isKnown(replicas);
      // Cluster mode (node groups): every shard needs its own replica to fail over.
      const sharded = r.props.numNodeGroups !== undefined;
      return [
        definitelyNot(r.props.automaticFailoverEnabled)
          ? `Redis replication group ${label(r)} must fail over automatically (automaticFailoverEnabled true).`
          : undefined,
        definitelyNot(r.props.multiAzEnabled)
          ? `Redis replication group ${label(r)} must be Multi-AZ (multiAzEnabled true).`
          : undefined,
        enough
          ? undefined
          : sharded
            ? `Redis replication group ${label(r)} must have at least one replica in every shard (replicasPerNodeGroup 1 or more).`
            : `Redis replication group ${label(r)} must have at least one replica (numCacheClusters 2 or more).`,
      ];
    }),
  ],
};

// The store folder's door: the Redis implementation of the workload's QuantaStore port.
export { CoordinatorStore } from "./redis-store.js";

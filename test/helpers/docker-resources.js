// linux.resources shaped as dockerd writes it for a plain `docker run` (no limits asked for): every
// number zero, every string empty. Shared by the unit and the
// integration tests of the zero-value mapping (src/cgroups/resources.ts). (Older dockerd also sent
// swappiness -1 as 18446744073709551615, which JSON.stringify cannot write back: the unit tests have it.)

/** A fresh copy each call; `devices` is left to the caller (the base config has its own). */
export function dockerZeroResources() {
	return JSON.parse(`{
		"memory": {
			"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0, "disableOOMKiller": false
		},
		"cpu": {
			"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0,
			"cpus": "", "mems": ""
		},
		"pids": { "limit": 0 },
		"blockIO": { "weight": 0, "leafWeight": 0, "weightDevice": [] },
		"network": { "classID": 0, "priorities": [] }
	}`);
}

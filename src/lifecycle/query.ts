/** state and list: read-only views; no lock (state.json is replaced atomically). */
import { TsrunError } from '../errors.js';
import { listIds, readRecord } from '../state/store.js';
import { containerStatus, stateReport, type StateReport } from './status.js';

export async function queryState(root: string, id: string): Promise<StateReport> {
  const record = readRecord(root, id);
  return stateReport(record, await containerStatus(root, record));
}

export async function listContainers(root: string): Promise<StateReport[]> {
  const reports: StateReport[] = [];
  for (const id of listIds(root)) {
    try {
      reports.push(await queryState(root, id));
    } catch (err) {
      // a container being created or deleted right now has no (or no longer a) state.json
      if (!(err instanceof TsrunError && err.kind === 'state')) throw err;
    }
  }
  return reports;
}

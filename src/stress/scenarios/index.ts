import type { Scenario } from '../scenario.ts';
import { recordsScenario, nestedScenario } from './records.ts';
import { pairScenario, socketScenario } from './bev-records.ts';
import { controlScenario } from './control.ts';
import { freeScenario } from './free.ts';
import { linearizableScenario } from './linearizable.ts';

/** Every built-in scenario, in the order a run visits them. A new scenario is one file and one line here. */
export const SCENARIOS: readonly Scenario[] = [
  recordsScenario,
  nestedScenario,
  pairScenario,
  socketScenario,
  controlScenario,
  freeScenario,
  linearizableScenario,
];

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** What became of each item of an Insert Rows run, from its outcome: pure, for the node's one-item-per-input output. */
import type { Outcome } from '../../outcome/outcome';
import { inRanges } from './shape';

export type ItemFate = 'inserted' | 'ignored' | 'updated' | 'failed' | 'notWritten';

/** The fate of the item at `index` (0-based among the run's rows). */
export function itemFate(outcome: Pick<Outcome, 'insert'>, index: number): ItemFate {
	const report = outcome.insert;
	if (!report) return 'notWritten';
	if (index < report.landedItems) {
		if (report.updatedItems && inRanges(report.updatedItems, index)) return 'updated';
		if (report.ignoredItems && inRanges(report.ignoredItems, index)) return 'ignored';
		return 'inserted';
	}
	return report.failedItem?.index === index ? 'failed' : 'notWritten';
}

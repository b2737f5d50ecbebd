// SCAFFOLD: filled in by the polyv issue.
export {};

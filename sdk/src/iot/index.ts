// SCAFFOLD: filled in by the iot issue.
export {};

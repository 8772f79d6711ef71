/** Who counts as a security engineer (may approve archives, take escalations, change routing). */
export interface SecurityTeam {
  isSecurityEngineer(userId: string): Promise<boolean>;
}

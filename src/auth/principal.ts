/** Who is making a request at the parent, and what that allows. */
export type PrincipalRole = 'admin' | 'reseller' | 'user';

export interface Principal {
  username: string;
  role: PrincipalRole;
}

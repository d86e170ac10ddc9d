"""Recovers the random displacement GADGET-4 applied to its particles when it
measured ../shared/reference/N32/gadget4_powerspec_z0.txt.

GADGET-4 ran with RANDOMIZE_DOMAINCENTER (see the /Config group of its
files): it shifts all particles by a random vector, and measures the power
spectrum in the shifted frame, while snapshots are written unshifted. CIC
aliasing at high k depends on where particles sit inside mesh cells, so the
spectra agree only once the sub-cell part of the shift is known. This script
fits it (3 numbers against the 733 bins of the unfolded block) with an
independent numpy CIC estimator. Run once; SpectrumTests uses the result.

    python fit_gadget_displacement.py [grid-points-per-axis]
"""
import numpy as np, h5py, itertools, sys
f=h5py.File('/work/shared/reference/N32/gadget4_snapshot_z0.hdf5'); x0=f['PartType1/Coordinates'][:].astype(np.float64)
L=50.0; N=64
def load(fn):
    Ls=open(fn).read().split('\n'); blocks=[]; i=0
    for b in range(3):
        n=int(Ls[i+1]); rows=np.array([list(map(float,l.split())) for l in Ls[i+5:i+5+n]]); blocks.append(rows); i+=5+n
    return blocks
G=load('/work/shared/reference/N32/gadget4_powerspec_z0.txt')[0]
m=np.fft.fftfreq(N)*N; mz=np.arange(N//2+1)
MX,MY,MZ=np.meshgrid(m,m,mz,indexing='ij')
s=lambda q: np.where(q==0,1,np.sin(np.pi*q/N)/(np.pi*q/N+1e-300))
W=(s(MX)*s(MY)*s(MZ))**4
K=2*np.pi/L*np.sqrt(MX**2+MY**2+MZ**2)
wt=np.where((MZ>0)&(2*MZ<N),2.0,1.0)
K0=2*np.pi/L; K1=K0*256*N/2; binfac=4000/np.log(K1/K0)
valid=K>0
B=np.zeros(K.shape,dtype=int); B[valid]=(np.log(K[valid]/K0)*binfac).astype(int)
def spec(x):
    u=x/L*N; i=np.floor(u).astype(int); d=u-i
    rho=np.zeros(N**3)
    for ox in (0,1):
        wx=d[:,0] if ox else 1-d[:,0]; ix=(i[:,0]+ox)%N
        for oy in (0,1):
            wy=d[:,1] if oy else 1-d[:,1]; iy=(i[:,1]+oy)%N
            for oz in (0,1):
                wz=d[:,2] if oz else 1-d[:,2]; iz=(i[:,2]+oz)%N
                rho+=np.bincount((ix*N+iy)*N+iz, weights=wx*wy*wz, minlength=N**3)
    F=np.fft.rfftn(rho.reshape(N,N,N))/len(x)
    P=np.abs(F)**2/W
    sp=np.bincount(B[valid], weights=(P*wt)[valid], minlength=4000); cnt=np.bincount(B[valid], weights=wt[valid], minlength=4000)
    lk=np.bincount(B[valid], weights=(np.log(K)*wt)[valid], minlength=4000)
    nz=cnt>0
    k=np.exp(lk[nz]/cnt[nz]); p=sp[nz]/cnt[nz]
    return k,p
gk=G[:,0]; gp=G[:,2]
def cost(sh):
    k,p=spec((x0+sh)%L)
    sel=(k>1.5)&(k<5)
    return np.mean(np.log(p[sel]/gp[sel])**2)
cell=L/N
best=(1e9,None)
n=int(sys.argv[1]) if len(sys.argv)>1 else 6
for a,b,c in itertools.product(range(n),repeat=3):
    sh=np.array([a,b,c])*cell/n
    v=cost(sh)
    if v<best[0]: best=(v,sh); print(best, flush=True)
from scipy.optimize import minimize
r=minimize(cost, best[1], method='Nelder-Mead', options={'xatol':1e-4,'fatol':1e-10,'maxiter':400})
print("final", r.x, r.fun, flush=True)
k,p=spec((x0+r.x)%L)
print("max rel diff block0:", np.max(np.abs(p/gp-1)), "median", np.median(np.abs(p/gp-1)))
